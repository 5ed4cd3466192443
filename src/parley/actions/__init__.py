"""The only code that changes state: check the rule, write one transaction, publish after commit."""
