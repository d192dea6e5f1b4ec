"""The neural-CA core: perception and update modules and the abstract NCA they compose
(public as :mod:`cax_zoo.nca`)."""
