"""A made-up package that the import hook and the pytest option check in one line."""
