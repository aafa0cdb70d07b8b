"""Jobs: the base ``Job``, command, sweep and pipeline jobs, and a job made from the studio's record."""
