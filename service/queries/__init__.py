"""Read queries shared by HTTP and the CLI: the audit trail and the read-model views."""
