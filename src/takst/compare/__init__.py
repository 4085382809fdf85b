"""Two versions of a tariff over one register: who pays how much more."""
