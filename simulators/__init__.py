"""Device simulators that speak the real devices' wire protocols."""
