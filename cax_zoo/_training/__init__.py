"""Training machinery shared by every neural recipe: checkpoints, sample pools, the
optimiser, the training loop, the recipe command line and the release of a trained model."""
