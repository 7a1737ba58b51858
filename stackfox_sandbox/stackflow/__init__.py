"""The sandbox's StackFlow incidents API and its auth: routes, models, store, moto's Cognito, ``/oauth2/token``,
token verification."""
