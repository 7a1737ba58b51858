"""Reviews of a stack for people and CI: ``stackfox drift`` (services vs code) and ``stackfox plan`` (a preview
summarised for a pull request).

* :mod:`~stackfox_provider.review.engine_run` runs ``pulumi preview`` through the Automation API and collects its
  engine events;
* :mod:`~stackfox_provider.review.drift` and :mod:`~stackfox_provider.review.plan` turn them into reports
  (:mod:`~stackfox_provider.review.model`, which is also the JSON schema);
* :mod:`~stackfox_provider.review.render` prints them as text, Markdown or JSON;
* :mod:`~stackfox_provider.review.cli` adds the two commands to ``stackfox``.
"""
