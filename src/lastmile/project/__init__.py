"""Making the template one's own: draft a contract from data, instantiate, check the GitHub side."""
