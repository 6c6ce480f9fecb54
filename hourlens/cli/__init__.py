"""Command-line interface."""


def main() -> None:
    print("hourlens")
