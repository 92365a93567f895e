"""Confusion-matrix and ROC figures logged with each training run."""

from __future__ import annotations

from matplotlib.figure import Figure

from ml.metrics import Evaluation
from ml.model import LABEL_NAMES


def confusion_figure(evaluation: Evaluation) -> Figure:
    matrix = evaluation.confusion_matrix()
    figure = Figure(figsize=(4, 4), dpi=100)
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    names = [LABEL_NAMES[0], LABEL_NAMES[1]]
    axes.set_xticks([0, 1], labels=names)
    axes.set_yticks([0, 1], labels=names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    for row in range(2):
        for column in range(2):
            axes.text(column, row, str(matrix[row, column]), ha="center", va="center")
    axes.set_title(f"accuracy {evaluation.scores.accuracy:.4f}")
    figure.tight_layout()
    return figure


def roc_figure(evaluation: Evaluation) -> Figure:
    points = evaluation.roc_points()
    figure = Figure(figsize=(4, 4), dpi=100)
    axes = figure.add_subplot()
    axes.plot(points["fpr"], points["tpr"], label=f"AUC {evaluation.scores.roc_auc:.4f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.legend(loc="lower right")
    figure.tight_layout()
    return figure
