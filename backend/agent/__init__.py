"""The agent: the processes that launch and supervise long work (environment builds, later jobs)."""
