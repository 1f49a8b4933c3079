"""The report's picture of a table model's columns: accuracy with each column alone and left out."""

from matplotlib.figure import Figure


def plot_column_ablation(ablation, split="test"):
    """Horizontal bars per column: accuracy with the column alone, and with it left out, against
    the accuracy with every column (`mmcnn.multimodal.column_ablation`'s result)."""
    columns = list(ablation["alone"])
    fig = Figure(figsize=(8, 0.6 * len(columns) + 1.6))
    ax = fig.subplots()
    ys = list(range(len(columns)))
    alone = [ablation["alone"][c] for c in columns]
    left_out = [ablation["left_out"][c] for c in columns]
    ax.barh([y - 0.2 for y in ys], alone, height=0.4, label="this column alone")
    ax.barh([y + 0.2 for y in ys], left_out, height=0.4, label="this column left out")
    ax.axvline(ablation["all"], color="black", linestyle="--", label=f"every column ({ablation['all']:.3f})")
    ax.set_yticks(ys, columns)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{split} accuracy ({ablation['examples']} examples)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    return fig
