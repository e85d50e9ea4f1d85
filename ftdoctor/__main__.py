"""`python -m ftdoctor` and the `ftdoctor` console script."""

import sys


def main() -> int:
    from ftdoctor.cli import run

    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
