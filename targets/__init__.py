"""Reference services the harness runs against (start with `targets.shop`)."""
