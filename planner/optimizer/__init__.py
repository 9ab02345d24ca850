"""`recommend` and `frontier`: the joint search over model, precision, search method, samples, hardware and tensor
parallelism, joining the roofline (``cost``) and the scaling laws (``accuracy``).

``request`` holds what the user asks; ``grid`` evaluates every candidate as numpy arrays; ``search`` picks the
recommendation, the Pareto frontier, the notable alternatives and the binding constraint.
"""
