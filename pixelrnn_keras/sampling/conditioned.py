"""A conditional network with its condition fixed, in the interface the sampling loops drive."""


class Conditioned:
    """A conditional PixelRNN with its condition map fixed, in the interface the sampling loops drive.

    Args:
        network: a conditional `PixelRNN`: built with condition_features > 0 (the upper scale of a
            multi-scale model) or num_classes > 0 (then the map is `network.label_condition(labels)`).
        condition: (batch, H, W, c) map.
    """

    def __init__(self, network, condition):
        self.network = network
        self.condition = condition

    @property
    def image_shape(self):
        return self.network.image_shape

    @property
    def levels(self):
        return self.network.levels

    def __call__(self, images):
        return self.network(images, self.condition)

    def init_cache(self, batch):
        return self.network.init_cache(batch, self.condition)

    def step(self, cache, pixel, i, j, channel):
        return self.network.step(cache, pixel, i, j, channel)

    def end_pixel(self, cache, pixel, i, j):
        return self.network.end_pixel(cache, pixel, i, j)

    def end_row(self, cache, i, row):
        return self.network.end_row(cache, i, row)

    def wavefront(self):
        return self.network.wavefront()

    def wave_init_cache(self, batch, wave):
        return self.network.wave_init_cache(batch, wave, self.condition)

    def wave_step(self, cache, at, draw):
        return self.network.wave_step(cache, at, draw)

    def wave_end_row(self, cache, i):
        return self.network.wave_end_row(cache, i)
