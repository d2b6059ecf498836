"""stage2-operator: runs Stage2-style operations and workflows on Kubernetes."""

GROUP = "stage2.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
