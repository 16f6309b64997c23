"""mpcheckout: keeps a Mercado Pago checkout honest."""

__version__ = "0.1.0"
