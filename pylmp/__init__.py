"""pylmp: templated LAMMPS studies of Ni and Ni alloys with classical and machine-learning potentials."""

__version__ = "0.1.0"
