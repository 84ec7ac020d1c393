"""Learning management systems: packaging assignments for them and converting results."""
