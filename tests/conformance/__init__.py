"""Conformance tests: real recordings from ../shared through our decode and parse."""
