"""Full screens: the findings browser, help, explain, preflight, lockfile."""
