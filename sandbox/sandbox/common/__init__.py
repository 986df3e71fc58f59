"""Pieces both simulators share: accounts and API keys, faults, body limits, storage, paging."""
