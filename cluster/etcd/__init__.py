"""etcd: Raft consensus (raft/), the MVCC store (mvcc/) and the member that joins them."""
