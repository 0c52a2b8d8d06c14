"""Template packages: install an app package into a database, read installed apps back."""

from engine.packages.install import install_package, installed_app, installed_apps

__all__ = ["install_package", "installed_app", "installed_apps"]
