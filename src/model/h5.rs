//! HDF5 (Keras `.h5`): the attributes a Keras model keeps its configuration in.
