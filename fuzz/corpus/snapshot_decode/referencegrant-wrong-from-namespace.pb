

infragw