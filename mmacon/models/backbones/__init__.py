from .resnet import AconResNet, AconResNetV1c, AconResNetV1d

__all__ = ['AconResNet', 'AconResNetV1c', 'AconResNetV1d']
