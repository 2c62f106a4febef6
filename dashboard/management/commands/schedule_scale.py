"""manage.py schedule_scale --nodes 5000 --pods 10000: the headless scale run of kube-scheduler.

A thin shell over cluster.scheduler.scale: builds N nodes and M pods, schedules every pod with
the default plugins and prints pods per wall-second (and per CPU-second: on a shared machine
the wall figure also counts other processes' turns). --component measures the full path
instead: etcd, kube-apiserver and the kube-scheduler component on the simulated network.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from cluster.scheduler.scale import ComponentRun, run_scale

KUBERNETES_FLOOR = 680  # pods/s: scheduler_perf's threshold at 5,000 nodes and 10,000 pods


class Command(BaseCommand):
    help = "Schedule M pods onto N simulated nodes with the default plugins and print pods per second."

    def add_arguments(self, parser):
        parser.add_argument("--nodes", type=int, default=5000, help="nodes (up to 5,000)")
        parser.add_argument("--pods", type=int, default=10000, help="pods (up to 150,000)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=1000, help="print progress every this many pods")
        parser.add_argument("--record-rows", type=int, default=100, help="node rows kept per decision record")
        parser.add_argument("--component", action="store_true", help="through etcd and kube-apiserver with the kube-scheduler component")

    def handle(self, *args, nodes, pods, seed, batch, record_rows, component, **options):
        if not 1 <= nodes <= 5000:
            raise CommandError("--nodes must be from 1 to 5000")
        if not 1 <= pods <= 150_000:
            raise CommandError("--pods must be from 1 to 150000")
        if component:
            self._component(nodes, pods, seed, record_rows)
            return
        self.stdout.write(f"building {nodes:,} nodes and {pods:,} pods (framework only: no network, bindings applied in the cache)")

        def progress(done, elapsed):
            self.stdout.write(f"  {done:>7,} pods  {done / elapsed:>8,.0f} pods/wall-second")

        stats = run_scale(nodes, pods, seed, timer=time.perf_counter, cpu_timer=time.process_time, batch=batch, progress=progress, record_rows=record_rows)
        self.stdout.write(f"scheduled {stats['scheduled']:,}, unschedulable {stats['unschedulable']:,}, {stats['examined_per_pod']:.0f} nodes examined per pod")
        self.stdout.write(f"{stats['pods_per_s']:,.0f} pods per wall-second ({stats['wall_s']:.2f} s); {stats['pods_per_cpu_s']:,.0f} pods per CPU-second")
        self.stdout.write(f"Kubernetes' scheduler_perf floor at 5,000 nodes / 10,000 pods: {KUBERNETES_FLOOR} pods/s; decisions digest {stats['digest'][:16]}")

    def _component(self, nodes, pods, seed, record_rows):
        self.stdout.write(f"loading {nodes:,} Node and {pods:,} Pod objects into etcd through kube-apiserver...")
        run = ComponentRun(nodes, pods, seed, record_rows=record_rows)
        run.load()
        self.stdout.write("starting kube-scheduler: it lists, schedules and binds every pod through the API server")
        wall, cpu = time.perf_counter(), time.process_time()
        run.start_scheduler()
        run.run_until_bound()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        summary = run.summary()
        self.stdout.write(f"bound {summary['bound']:,} pods in {summary['virtual_s']:.1f} virtual seconds")
        self.stdout.write(f"{pods / wall:,.0f} pods per wall-second ({wall:.2f} s), {pods / cpu:,.0f} per CPU-second")
