"""The studies: the declaration every experiment enters the workflow through
(``studies.declaration``), its steps and missing-data protocol, the package's declarations,
and the registry that holds them all (``studies.registry``)."""
