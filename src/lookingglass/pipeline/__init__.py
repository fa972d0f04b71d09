"""Jobs (plain functions over plain arguments) and how they are run."""
