"""What every model's training shares: the loop settings (``config``, torch-free), the
optimisation loop (``loop``), checkpoint averaging and the result types."""
