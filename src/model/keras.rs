//! Keras model configuration (`model_config` in HDF5, `config.json` in `.keras` zips).
