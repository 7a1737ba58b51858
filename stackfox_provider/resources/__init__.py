"""stackfox's resources, one module each: inputs model, provider and resource class."""
