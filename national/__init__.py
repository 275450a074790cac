"""National de-duplication and no-card identification over the whole registry, on Dask.

    client = connect()                                  # LocalCluster; connect("tcp://HOST:8786") for a cluster
    shards = synthetic.build.shard_set(registry, root, shard_size, client)   # or gallery.build(...)
    gallery = NationalGallery(client, shards)           # each worker loads its shards once and keeps them
    run = deduplicate(gallery, report_fmr=operating.per_comparison_fmr(0.01, len(gallery)))
    cases = open_cases(run.suspects)                    # adjudication (national.cases, national.web)
    gallery.search(probes, timeout=2.0)                 # no-card identification with a deadline

Uses ``matcher``; never imports ``kiosk`` (the kiosk and the commission use this package).
"""
