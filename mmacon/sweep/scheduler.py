# Copyright (c) mmacon contributors. All rights reserved.
"""Schedule a sweep's runs as subprocesses: skip finished runs, resume interrupted ones, run the
rest (``jobs`` at a time, a stage-2 run once its stage-1 run has finished),
and return one record per run.

A run's work dir is ``<work_dir>/<stage>/<config name>/seed<S>``. When a run
ends with exit status 0 its record is written there as ``benchmark_run.json``:
that file makes a later benchmark skip the run. A work dir with a
``last_checkpoint`` but no record is an interrupted run, continued with
mmengine's ``--resume`` (from its latest checkpoint).
"""
import json
import os
import os.path as osp
import subprocess
import threading
import time
from collections import deque
from typing import Dict, List, Optional

from .launch import train_command, train_env
from mmacon.utils.run_setup import describe_setup, setup_key
from .scalars import (NOT_EXACT, as_percent, final_metrics, found_no_detections,
                      last_log_contains, logged_setups, loss_curve, pick_metric, read_scalars)
from .spec import (ACTIVATIONS, DEFAULT_METRICS, DEFAULT_PRETRAINED_OPTIONS, SweepRun,
                   flatten_options, format_option)

RECORD = 'benchmark_run.json'
BASE_PORT = 29500  # run i gets BASE_PORT + i: PORT (torchrun) or MASTER_PORT (slurm)
# mmengine log lines echoed while a run trains (unless quiet)
ECHO = ('Iter(train)', 'Iter(val)', 'Epoch(train)', 'Epoch(val)', 'resumed', 'ERROR')


def _reap(job: dict) -> bool:
    """Whether the job's process ended; notes its CPU seconds (its own and those of the
    processes it waited for: torchrun's workers) in ``job['cpu_s']``. ``srun``'s are not
    the run's (its tasks are the Slurm daemon's children, possibly on other nodes): a
    Slurm run's CPU time is unknown (``cpu_s`` None)."""
    proc = job['proc']
    if proc.returncode is not None:
        return True
    if not hasattr(os, 'wait4'):
        return proc.poll() is not None
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid == 0:
        return False
    proc.returncode = os.waitstatus_to_exitcode(status)
    if job.get('cpu_known', True):
        job['cpu_s'] = usage.ru_utime + usage.ru_stime
    return True


def format_number(value: Optional[float], digits: int = 2) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint mmengine's ``last_checkpoint`` file names, if it exists."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        ckpt = f.read().strip()
    if ckpt and not osp.isabs(ckpt):
        ckpt = osp.join(work_dir, ckpt)
    return ckpt if ckpt and osp.isfile(ckpt) else None


class SweepScheduler:
    """Runs :class:`~mmacon.sweep.spec.SweepRun` s and collects their records.

    Args:
        runs: the matrix (``build_runs``).
        work_dir: root of the runs' work dirs.
        launcher: 'none' (``tools/train.py``), 'pytorch' (``tools/dist_train.sh``) or 'slurm'.
        jobs: runs at a time. A local run gets ``cores // jobs`` threads unless
            ``OMP_NUM_THREADS`` is set.
        gpus: processes per run (pytorch, slurm).
        gpus_per_node, cpus_per_task: ``GPUS_PER_NODE`` (0: a CPU-only Slurm job, no
            ``--gres``) and ``CPUS_PER_TASK`` of ``tools/slurm_train.sh``; None: the
            environment's, else its defaults.
        pretrained_options: ``--cfg-options`` that make a stage-2 run start from its
            stage-1 checkpoint; ``'{checkpoint}'`` in a value is replaced by its path.
        echo: print the runs' mmengine iteration and metric lines.
        print_fn: where progress goes.
    """

    def __init__(self, runs: List[SweepRun], work_dir: str, launcher: str = 'none',
                 jobs: int = 1, gpus: int = 1, partition: Optional[str] = None,
                 pretrained_options: Optional[Dict] = None, echo: bool = True,
                 print_fn=None, gpus_per_node: Optional[int] = None,
                 cpus_per_task: Optional[int] = None):
        self.runs = list(runs)
        self.work_dir = osp.abspath(work_dir)
        self.launcher = launcher
        self.jobs = max(1, int(jobs))
        self.gpus = gpus
        self.gpus_per_node = gpus_per_node
        self.cpus_per_task = cpus_per_task
        self.partition = partition
        self.pretrained_options = flatten_options(
            DEFAULT_PRETRAINED_OPTIONS if pretrained_options is None else pretrained_options)
        self.echo = echo
        self.print = print_fn or (lambda text: print(text, flush=True))
        self.dry = False
        self.lock = threading.Lock()
        self.records: Dict[str, dict] = {}

    # ----------------------------------------------------------------- commands
    def options(self, run: SweepRun) -> List[str]:
        """The run's ``--cfg-options``: its spec options, its stage-1 checkpoint, its seed."""
        opts = dict(flatten_options(run.cfg_options))
        if run.pretrain is not None:
            ckpt = self.checkpoint_of(run.pretrain)
            for key, value in self.pretrained_options.items():
                opts[key] = value.format(checkpoint=ckpt) if isinstance(value, str) else value
        opts['randomness.seed'] = run.seed
        return [f'{k}={format_option(v)}' for k, v in opts.items()]

    def checkpoint_of(self, run: SweepRun) -> str:
        if self.dry:
            return f'<checkpoint of {run.name}>'
        record = self.records.get(run.name) or self._read_record(run)
        ckpt = record and record.get('checkpoint')
        if not ckpt:
            raise RuntimeError(f'{run.name} has no checkpoint to start later runs from')
        return ckpt

    def command(self, run: SweepRun, resume: bool = False) -> List[str]:
        return train_command(run.config, run.work_dir(self.work_dir), self.options(run),
                             resume=resume, launcher=self.launcher, gpus=self.gpus,
                             partition=self.partition,
                             job_name=f'{run.stem}-s{run.seed}')

    # ------------------------------------------------------------------ records
    def _read_record(self, run: SweepRun) -> Optional[dict]:
        path = osp.join(run.work_dir(self.work_dir), RECORD)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)

    def env(self, threads: Optional[int], port: int) -> Dict[str, str]:
        """The environment of a run (:func:`~mmacon.sweep.launch.train_env`)."""
        return train_env(self.launcher, threads, self.gpus, port, self.gpus_per_node,
                         self.cpus_per_task)

    def make_record(self, run: SweepRun, returncode: int, wall_s: float,
                    resumed_from: Optional[str]) -> dict:
        work_dir = run.work_dir(self.work_dir)
        train, val = read_scalars(work_dir)
        metrics = final_metrics(val)
        metric = pick_metric(metrics, run.metric, DEFAULT_METRICS)
        value, note = metrics.get(metric) if metric else None, None
        if value is None and returncode == 0 and found_no_detections(work_dir):
            # mmdet's CocoMetric returns nothing when the model predicted no box: that is 0 mAP
            metric, value = metric or 'coco/bbox_mAP', 0.0
            note = 'no detections (CocoMetric: empty results): 0 mAP'
        elif value is None and returncode == 0:
            note = (f'no {metric or "metric"} in the logs (logged: {sorted(metrics)}); '
                    'did the run validate (train_cfg.val_interval)?')
        if run.pretrain is not None and last_log_contains(work_dir, NOT_EXACT):
            note = ((note + '; ') if note else '') + (
                'the stage-1 checkpoint did not fit the backbone exactly (missing or '
                'unexpected tensors: see its mmengine log)')
        setups = logged_setups(work_dir)
        setup = setups[-1] if setups else None
        if len({setup_key(s) for s in setups}) > 1:
            note = ((note + '; ') if note else '') + (
                'its attempts ran on different setups: ' +
                ' / '.join(describe_setup(s) for s in setups))
        steps, losses = loss_curve(train)
        return dict(
            name=run.name, stage=run.stage, config=run.config, task=run.task,
            activation=run.activation, activation_name=ACTIVATIONS[run.activation],
            seed=run.seed, metric=metric, value=as_percent(metric or '', value),
            metrics=metrics, final_loss=losses[-1] if losses else None,
            iterations=steps[-1] if steps else None,
            status='ok' if returncode == 0 else 'failed', returncode=returncode,
            wall_s=round(wall_s, 1), setup=setup, resumed_from=resumed_from,
            checkpoint=latest_checkpoint(work_dir), work_dir=work_dir,
            pretrain_checkpoint=(self.checkpoint_of(run.pretrain) if run.pretrain else None),
            cfg_options=self.options(run), note=note)

    # ---------------------------------------------------------------- execution
    def _say(self, text: str) -> None:
        with self.lock:
            self.print(text)

    def _finished(self, run: SweepRun) -> Optional[dict]:
        """The record of a finished run with the same settings, else None; a finished
        run with other settings is an error (its results would be mixed up)."""
        record = self._read_record(run)
        if record is None:
            return None
        wanted = self.options(run)
        if record.get('cfg_options') != wanted:
            raise RuntimeError(
                f'{run.name} finished before with other settings '
                f'({osp.join(run.work_dir(self.work_dir), RECORD)}: --cfg-options '
                f'{record.get("cfg_options")}, now {wanted}); use another --work-dir or remove '
                f'{run.work_dir(self.work_dir)}')
        return record

    def _launch(self, run: SweepRun, index: int, threads: int, port: int) -> dict:
        work_dir = run.work_dir(self.work_dir)
        os.makedirs(work_dir, exist_ok=True)
        resume_from = latest_checkpoint(work_dir)
        cmd = self.command(run, resume=resume_from is not None)
        how = f'resuming {osp.basename(resume_from)}' if resume_from else 'new'
        self._say(f'[benchmark] start {index}/{len(self.runs)} {run.name} ({how})')
        log = open(osp.join(work_dir, 'train.log'), 'a')
        log.write(f'$ {" ".join(cmd)}\n')
        log.flush()
        proc = subprocess.Popen(cmd, env=self.env(threads, port),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors='replace')

        def pump():
            for line in proc.stdout:
                log.write(line)
                if self.echo and (' - mmengine - ' in line and any(k in line for k in ECHO)
                                  or line.startswith('Traceback')):
                    self._say(f'[{run.stem}/seed{run.seed}] {line.rstrip()[:200]}')
            log.close()

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return dict(run=run, proc=proc, thread=thread, start=time.time(),
                    resumed_from=resume_from, cpu_known=self.launcher != 'slurm')

    def _finish(self, job: dict) -> dict:
        job['thread'].join()
        returncode = job['proc'].wait()
        run, end = job['run'], time.time()
        record = self.make_record(run, returncode, end - job['start'], job['resumed_from'])
        record['cpu_s'] = round(job['cpu_s'], 1) if job.get('cpu_s') is not None else None
        record['start_time'], record['end_time'] = round(job['start'], 1), round(end, 1)
        if returncode == 0:
            with open(osp.join(run.work_dir(self.work_dir), RECORD), 'w') as f:
                json.dump(record, f, indent=2)
            self._say(f'[benchmark] done  {run.name}: {record["metric"]} = '
                      f'{format_number(record["value"])} in {record["wall_s"]:.0f} s'
                      + (f' ({record["note"]})' if record['note'] else ''))
        else:
            tail = osp.join(run.work_dir(self.work_dir), 'train.log')
            self._say(f'[benchmark] FAILED {run.name} (exit status {returncode}); log: {tail}')
        return record

    def _skipped(self, run: SweepRun, why: str) -> dict:
        return dict(name=run.name, stage=run.stage, config=run.config, task=run.task,
                    activation=run.activation, activation_name=ACTIVATIONS[run.activation],
                    seed=run.seed, metric=run.metric, value=None, metrics={},
                    status='not run', returncode=None, wall_s=0.0, cpu_s=None, setup=None,
                    checkpoint=None,
                    work_dir=run.work_dir(self.work_dir), note=why)

    def commands(self) -> List[List[str]]:
        """The command line of every run (a stage-1 checkpoint as a placeholder),
        without running anything."""
        self.dry = True
        try:
            return [self.command(run) for run in self.runs]
        finally:
            self.dry = False

    def port(self, index: int) -> int:
        """The port of the ``index``-th run started (1-based): distinct for any ``jobs``
        runs at a time (up to 500)."""
        return BASE_PORT + index % 500

    def run(self) -> List[dict]:
        """Run the matrix; one record per run, in matrix order."""
        cores = os.cpu_count() or 1
        threads = max(1, cores // self.jobs) if self.launcher == 'none' else None
        pending = deque()
        for run in self.runs:
            record = self._finished(run) if run.pretrain is None or \
                run.pretrain.name in self.records else None
            if record is not None:
                self.records[run.name] = record
                self._say(f'[benchmark] skip  {run.name}: finished before '
                          f'({record["metric"]} = {format_number(record["value"])})')
            else:
                pending.append(run)
        active, started = [], len(self.records)
        while pending or active:
            for run in list(pending):
                if len(active) >= self.jobs:
                    break
                pre = run.pretrain
                if pre is not None and pre.name not in self.records:
                    continue  # its stage-1 run is still running
                pending.remove(run)
                if pre is not None and self.records[pre.name]['status'] != 'ok':
                    self.records[run.name] = self._skipped(run, f'{pre.name} did not finish')
                    continue
                record = self._finished(run)  # a stage-2 run finished before
                if record is not None:
                    self.records[run.name] = record
                    self._say(f'[benchmark] skip  {run.name}: finished before')
                    continue
                started += 1
                active.append(self._launch(run, started, threads, self.port(started)))
            time.sleep(0.2)
            for job in [j for j in active if _reap(j)]:
                active.remove(job)
                self.records[job['run'].name] = self._finish(job)
        return [self.records[r.name] for r in self.runs]


def run_sweep(runs: List[SweepRun], work_dir: str, title: str = 'Benchmark results',
              plot: bool = True, **runner_kwargs) -> List[dict]:
    """Run the matrix and write ``results.json``, ``results.md`` (and ``results.png``)
    to ``work_dir``; returns the records.

    ``results.json``: the records, and ``wall_s`` / ``cpu_s`` of the sweep
    (:func:`~mmacon.sweep.report.sweep_times`; None: unknown), ``call_wall_s`` (this
    call, skipped runs included), the ``setups`` the runs were made on and ``warnings``
    (tasks whose mean ± std merges runs of different setups, also printed)."""
    from .report import mixed_setups, setups, sweep_times, write_json, write_markdown
    start = time.time()
    runner = SweepScheduler(runs, work_dir, **runner_kwargs)
    records = runner.run()
    out = runner.work_dir
    warnings = mixed_setups(records)
    for message in warnings:
        runner._say(f'[benchmark] WARNING: {message}')
    write_json(records, osp.join(out, 'results.json'), **sweep_times(records),
               call_wall_s=round(time.time() - start, 1), launcher=runner.launcher,
               jobs=runner.jobs, setups=setups(records), warnings=warnings)
    write_markdown(records, osp.join(out, 'results.md'), title=title)
    if plot:
        from .plot import plot_results
        plot_results(records, osp.join(out, 'results.png'), title=title)
    return records
