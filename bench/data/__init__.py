"""Real data sets for the benchmarks, built from Debian packages (see `bench/data/README.md`).

Install the packages once with `bench/setup.sh`. Nothing here downloads anything.

- `fashion_mnist.load_fashion_mnist()`: the Fashion-MNIST IDX files of `dataset-fashion-mnist`.
- `speech.build_speech_commands(out_dir)`: ten spoken command words synthesised with espeak-ng.
- `fortunes.load_fortunes()`: fortune-cookie texts labelled by the file they come from.
- `debtags.load_debtags()`: Debian package short descriptions with their debtags (multi-label),
  from the apt lists (`apt-cache dumpavail`).
"""
