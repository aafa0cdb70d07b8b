"""Studio's backend: settings, database, services, storage and the agent."""
