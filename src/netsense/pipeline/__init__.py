"""The sweep pipeline's edge: configs (:mod:`.config`, :mod:`.axes`), the plan of cells and
shards (:mod:`.plan`), shard jobs and their files (:mod:`.shard`, :mod:`.store`), the cube
(:mod:`.cube`, :mod:`.assembly`), the Dask clusters (:mod:`.cluster`) and derived code versions
(:mod:`.codeversion`). The only layer besides the command line that touches files, zarr or
Dask for sweeps."""
