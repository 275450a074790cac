"""National de-duplication and no-card identification over the whole registry, on Dask.

    client = connect()                                  # LocalCluster; connect("tcp://HOST:8786") for a cluster
    key = sealing.key_from_file(path_outside_root)     # shards are sealed at rest (AES-256-GCM)
    shards = synthetic.build.shard_set(registry, root, shard_size, key, client)   # or gallery.build(...)
    gallery = NationalGallery(client, shards, key=key)  # each worker decrypts its shards once and keeps them
    run = deduplicate(gallery, report_fmr=operating.per_comparison_fmr(0.01, len(gallery)))
    cases = open_cases(run.suspects)                    # adjudication (national.cases, national.web)
    gallery.search(probes, timeout=2.0)                 # no-card identification with a deadline

Uses ``matcher``; never imports ``kiosk`` (the kiosk and the commission use this package).
"""
