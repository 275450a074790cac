"""Device adapters: ID card (MRZ) reader, fingerprint sensor, UV lamp relay, camera, ink check."""
