"""Map the design card's top-level folders into the single `ftdoctor` import namespace.

pyproject.toml holds all metadata; this file only computes the package list, because setuptools'
declarative `packages.find` cannot prefix the folders `trainer/`, `tui/` and `compat_matrix/`.
"""

from setuptools import find_packages, setup

MAPPED = {"trainer": "ftdoctor.trainer", "tui": "ftdoctor.tui", "compat_matrix": "ftdoctor.compat_matrix"}

packages = find_packages(include=["ftdoctor", "ftdoctor.*"])
package_dir = {"ftdoctor": "ftdoctor"}
for folder, name in MAPPED.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]
    package_dir[name] = folder

setup(packages=packages, package_dir=package_dir)
