"""`ftdoctor lock`: choose exact pins for a target machine from the matrix, judged by the same rules as `check`."""
