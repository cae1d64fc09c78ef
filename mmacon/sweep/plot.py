# Copyright (c) mmacon contributors. All rights reserved.
"""``results.png``: per task, the metric of each activation (mean over seeds, error
bar = sample std, dots = the seeds) above its training-loss curves (mean over
seeds, read from the runs' mmengine logs)."""
from typing import List

from .report import groups, summary
from .scalars import loss_curve, read_scalars
from .spec import ACTIVATIONS

COLORS = dict(relu='tab:gray', acona='tab:olive', aconb='tab:cyan', aconc='tab:blue',
              metaacon='tab:red', frelu='tab:purple')


def _mean_curve(curves):
    """Mean of loss curves over the steps all of them logged."""
    common = sorted(set.intersection(*(set(steps) for steps, _ in curves)))
    by_step = [dict(zip(steps, losses)) for steps, losses in curves]
    return common, [sum(c[s] for c in by_step) / len(by_step) for s in common]


def plot_results(records: List[dict], path: str, title: str = '') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    panels = list(groups(records))
    rows = summary(records)
    fig, axes = plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 6.4), squeeze=False)
    for col, (stage, task) in enumerate(panels):
        ax = axes[0][col]
        mine = [r for r in rows if (r['stage'], r['task']) == (stage, task)]
        for i, row in enumerate(mine):
            color = COLORS[row['activation']]
            if row['mean'] is not None:
                ax.bar(i, row['mean'], yerr=row['std'] or 0.0, capsize=4, color=color,
                       alpha=0.6)
            seeds = groups(records)[(stage, task)][row['activation']]
            ax.plot([i] * len(seeds), list(seeds.values()), 'k.', ms=5)
        ax.set_xticks(range(len(mine)))
        ax.set_xticklabels([ACTIVATIONS[r['activation']] for r in mine], fontsize=8)
        metric = next((r['metric'] for r in mine if r['metric']), 'metric')
        ax.set_title(f'{stage}: {task}', fontsize=8)
        ax.set_ylabel(metric + (' (%)' if metric.startswith('coco/') else ''), fontsize=8)

        ax = axes[1][col]
        for act in [r['activation'] for r in mine]:
            curves = []
            for rec in records:
                if (rec['stage'], rec['task'], rec['activation']) == (stage, task, act) \
                        and rec.get('work_dir'):
                    steps, losses = loss_curve(read_scalars(rec['work_dir'])[0])
                    if steps:
                        curves.append((steps, losses))
            if curves:
                steps, losses = _mean_curve(curves)
                ax.plot(steps, losses, color=COLORS[act], label=ACTIVATIONS[act], lw=1.2)
        ax.set_xlabel('iteration', fontsize=8)
        ax.set_ylabel('training loss (mean over seeds)', fontsize=8)
        if ax.lines:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
