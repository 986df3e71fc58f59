"""The local stack launcher behind `make demo` and the end-to-end tests."""

from sandbox.stack.stack import Stack, StackOptions, StackPorts, reset_state_dir

__all__ = ["Stack", "StackOptions", "StackPorts", "reset_state_dir"]
