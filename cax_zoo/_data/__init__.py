"""Dataset loaders (one module per dataset): local copies under $CAX_ZOO_DATA, else a verified download."""
