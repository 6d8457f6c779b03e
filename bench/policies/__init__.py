"""The policies the chaos benchmark compares: the old platform, a fixed delay, and our fleet."""
