"""`ftdoctor fix`: turn check's findings into a plan of commands, and apply it step by step with rollback."""
