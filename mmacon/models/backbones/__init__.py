from .mobilenet_v2 import AconMobileNetV2
from .resnet import AconResNet, AconResNetV1c, AconResNetV1d
from .shufflenet_v2 import AconShuffleNetV2
from .tfnet import TFNet

__all__ = ['AconResNet', 'AconResNetV1c', 'AconResNetV1d', 'AconShuffleNetV2',
           'AconMobileNetV2', 'TFNet']
