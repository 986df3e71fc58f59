"""The plugin's routes: read-only pages, the config wizard, and the lifecycle actions."""
